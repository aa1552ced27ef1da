"""e-APS dossier service: requests from draft to transmission, baskets, dialogue, authorisations, search."""
