"""Real MNIST: the shipped MLP and CNN specs reach the accuracy they promise."""

import json

import pytest

from netcore.data.mnist import load_mnist
from netcore.experiment import evaluate_on_test, make_trainer
from netcore.network import Network
from netcore.resources import resource_path
from netcore.train import TrainSettings


@pytest.mark.mnist
@pytest.mark.slow
def test_mnist_mlp_reaches_97_5_percent_in_5_epochs(mnist_dir):
    data = load_mnist(mnist_dir, download=False)
    spec = json.loads(resource_path("networks", "mnist_mlp.json").read_text())
    network = Network(spec, seed=0)
    trainer = make_trainer(network, data, TrainSettings(epochs=5, batch_size=32, lr=1e-3))
    assert trainer.run().status == "finished"
    assert evaluate_on_test(network, data)["accuracy"] >= 0.975


@pytest.mark.mnist
@pytest.mark.slow
def test_mnist_cnn_reaches_99_percent_in_3_epochs(mnist_dir):
    data = load_mnist(mnist_dir, download=False)
    spec = json.loads(resource_path("networks", "mnist_cnn.json").read_text())
    network = Network(spec, seed=0)
    settings = TrainSettings(epochs=3, batch_size=64, lr=2e-3, schedule={"name": "cosine", "epochs": 3.0})
    trainer = make_trainer(network, data, settings)
    assert trainer.run().status == "finished"
    assert evaluate_on_test(network, data)["accuracy"] >= 0.990
