"""e-APS identity service: Comptes prodou@ne, accès simplifié et OPPD, habilitations PAE, agents avec MFA, jetons."""
