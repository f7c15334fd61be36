"""Training a field: the loop (single process or torchrun DDP), its batches and training set in memory, and the
held-out check it runs between steps (on the validation split). Writes `naf_model.checkpoint` files."""

from naf_model.training.train import RunOptions, TrainResult, check_request, learning_rate, train_field

__all__ = ["RunOptions", "TrainResult", "check_request", "learning_rate", "train_field"]
