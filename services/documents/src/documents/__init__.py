"""e-APS documents service: Bibliothèque de documents, contrôles à l'envoi, antivirus, copies figées des dossiers transmis."""
