"""e-APS documents service: the document library, upload checks, antivirus, pinned copies."""
