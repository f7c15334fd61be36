"""The HDF5 data set of simulated binaural spectrograms: planning, building, merging shards, reading."""

from naf_model.data.assemble import merge_shards
from naf_model.data.make import make_dataset
from naf_model.data.plan import DataConfig, DataPlan, plan_dataset, room_config
from naf_model.data.reader import DataSet

__all__ = ["DataConfig", "DataPlan", "DataSet", "make_dataset", "merge_shards", "plan_dataset", "room_config"]
