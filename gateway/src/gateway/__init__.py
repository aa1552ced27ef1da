"""e-APS gateway: the public and internal edges, and the web portals."""
