"""e-APS classification service: Référentiel réglementaire versionné, aide au classement et moteur d'autorisation."""
