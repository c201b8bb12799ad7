"""A shard descriptor that serves random data of fixed shapes.

It lets an envoy register with a director configured for sample shape ['1']
and target shape ['1'] without any real data set or network access.
"""

import numpy as np
from openfl.interface.interactive_api.shard_descriptor import ShardDataset, ShardDescriptor


class RandomDataset(ShardDataset):
    def __init__(self, sample_shape, target_shape, size):
        self.samples = np.random.rand(size, *map(int, sample_shape))
        self.targets = np.random.randint(0, 2, size=(size, *map(int, target_shape)))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        return self.samples[index], self.targets[index]


class DummyShardDescriptor(ShardDescriptor):
    def __init__(self, sample_shape=("1",), target_shape=("1",), size=128):
        self._sample_shape = list(sample_shape)
        self._target_shape = list(target_shape)
        self._size = int(size)

    def get_dataset(self, dataset_type="train"):
        return RandomDataset(self._sample_shape, self._target_shape, self._size)

    @property
    def sample_shape(self):
        return self._sample_shape

    @property
    def target_shape(self):
        return self._target_shape

    @property
    def dataset_description(self):
        return f"random data, {self._size} samples"
