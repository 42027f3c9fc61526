"""Data: the digits the network learns from and the drawings it reads.

Datasets (uint8 storage, seeded stratified splits), where they come from (bundled, IDX files, the
downloader), augmentation, drawing preprocessing, taught examples. May import engine.files only.
"""
