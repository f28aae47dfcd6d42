"""Early warning of training instabilities from the logged history (stdlib only: train and analysis share it)."""
