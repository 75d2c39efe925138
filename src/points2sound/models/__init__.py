"""Neural networks of Points2Sound: the conditioned Demucs, the Mono2Binaural U-Net and the sparse vision net."""
