"""e-APS notifications service: emails, SMS, in-app notifications and webhooks of other administrations."""
