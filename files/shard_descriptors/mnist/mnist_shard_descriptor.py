"""MNIST shard descriptor: each envoy serves the slice given by its rank.

`rank_worldsize: "2, 3"` means this envoy is rank 2 of 3. The data set is
downloaded when the envoy starts, so the envoy pod needs egress to it.
"""

import numpy as np
import requests
from openfl.interface.interactive_api.shard_descriptor import ShardDataset, ShardDescriptor

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


class SliceDataset(ShardDataset):
    def __init__(self, x, y, rank, worldsize):
        self.x = x[rank - 1 :: worldsize]
        self.y = y[rank - 1 :: worldsize]

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index], self.y[index]


class MnistShardDescriptor(ShardDescriptor):
    def __init__(self, rank_worldsize="1, 1"):
        self.rank, self.worldsize = (int(part) for part in rank_worldsize.split(","))
        response = requests.get(MNIST_URL, timeout=60)
        response.raise_for_status()
        with open("mnist.npz", "wb") as archive:
            archive.write(response.content)
        with np.load("mnist.npz") as data:
            self.data = {
                "train": (data["x_train"], data["y_train"]),
                "val": (data["x_test"], data["y_test"]),
            }

    def get_dataset(self, dataset_type="train"):
        x, y = self.data[dataset_type]
        return SliceDataset(x, y, self.rank, self.worldsize)

    @property
    def sample_shape(self):
        return ["28", "28", "1"]

    @property
    def target_shape(self):
        return ["1"]

    @property
    def dataset_description(self):
        return f"MNIST, rank {self.rank} of {self.worldsize}"
