"""e-APS instruction service: Instruction des dossiers par le service douanier : files, recevabilité, décisions, autorisations."""
