"""e-APS instruction service: instruction des dossiers par le service douanier (files, recevabilité,
décisions, autorisations)."""
