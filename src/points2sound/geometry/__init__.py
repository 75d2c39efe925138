"""Point clouds: I/O, rigid transforms, augmentation and voxelization."""
