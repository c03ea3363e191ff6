// Anchor for the precompiled LibTorch header shared by the torch plugins.
