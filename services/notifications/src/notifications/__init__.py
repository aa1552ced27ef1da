"""e-APS notifications service: Courriels, SMS, notifications dans l'application et webhooks des autres administrations."""
