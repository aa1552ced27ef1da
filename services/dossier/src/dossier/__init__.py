"""e-APS dossier service: Demandes d'autorisation du brouillon à la transmission, corbeilles, dialogue, autorisations, recherche."""
