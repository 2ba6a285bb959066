"""Published Fashion-MNIST test accuracies for architectures the zoo can build, to show beside our boards as
reference rows (not trained here).

Sources, each row citing its own: the benchmark table of the dataset's README (zalandoresearch/fashion-mnist,
"Benchmark" section; the copy read here is the one Debian ships in dataset-fashion-mnist 0.0~git20200523.55506a9,
/usr/share/doc/dataset-fashion-mnist/README.md.gz), with the training settings taken from the code each table row
links to; the results table of "Random Erasing Data Augmentation" (Zhong et al.), as given in its repository's
README, with the settings of its fashionmnist.py; and two repositories that report a ViT and an MLP-Mixer-style
model trained from scratch. The table notes that its rows were not re-tested by the dataset's authors; neither
are they here. Accuracies are on the official 10,000-image test set.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.benchmarks.recipes import FASHION_MNIST_V2

_OURS = (
    f"ours: {FASHION_MNIST_V2.epochs} epochs on 55,000 images, horizontal flips only, a model of 25–100 k parameters"
)


def _times(epochs: int) -> str:
    """``epochs`` as a multiple of our recipe's: "60 times"."""
    return f"{epochs / FASHION_MNIST_V2.epochs:.0f} times"


DATASET_TABLE = "Fashion-MNIST README, benchmark table (Xiao, Rasul and Vollgraf; zalandoresearch/fashion-mnist)"
DATASET_TABLE_URL = "https://github.com/zalandoresearch/fashion-mnist#benchmark"
RANDOM_ERASING = "Random Erasing Data Augmentation (Zhong, Zheng, Kang, Li and Yang), results table"
RANDOM_ERASING_URL = "https://arxiv.org/abs/1708.04896"


@dataclass(frozen=True)
class ReferenceRow:
    """One published result. ``accuracy`` is a fraction; ``family`` is the zoo family that builds this kind of
    model and ``preset`` our closest baseline, if any."""

    model: str
    family: str
    preset: str | None
    accuracy: float
    params: int | None  # as reported (None when the source does not say)
    source_title: str
    source_url: str
    code_url: str | None
    year: int
    budget: str  # training budget as reported: epochs or steps, optimiser, batch
    augmentation: str  # as reported
    why_ours_differs: str  # one sentence
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


FASHION_MNIST_REFERENCES: tuple[ReferenceRow, ...] = (
    ReferenceRow(
        model="2 conv + max-pool, dense 1,024 (TensorFlow's layers tutorial)",
        family="plain",
        preset="tiny_plain_fmnist",
        accuracy=0.916,
        params=None,
        source_title=DATASET_TABLE,
        source_url=DATASET_TABLE_URL,
        code_url="https://github.com/zalandoresearch/fashion-mnist/blob/master/benchmark/convnet.py",
        year=2017,
        budget="2,000 steps of batch 400 (about 13 epochs), SGD, learning rate 0.001 (benchmark/convnet.py)",
        augmentation="none",
        why_ours_differs=f"Its 1,024-unit dense layer holds about 3 M parameters against our 24 k ({_OURS}).",
    ),
    ReferenceRow(
        model="2 conv (5×5, 32 and 64 channels) + max-pool + linear, < 100 k parameters",
        family="plain",
        preset="tiny_plain_fmnist",
        accuracy=0.925,
        params=83_466,
        source_title=DATASET_TABLE,
        source_url=DATASET_TABLE_URL,
        # The table's link points at master, from which the notebook was deleted in October 2017.
        code_url="https://github.com/hardmaru/pytorch_notebooks/blob/dc5aece179a58ef1ff46e7e01359c362438588dc/"
        "pytorch_tiny_custom_mnist_adam.ipynb",
        year=2017,
        budget="30 epochs, Adam, learning rate 0.001, batch 1,000 (the linked notebook; it prints 92.47 %)",
        augmentation="none",
        why_ours_differs=f"{_times(30)} more epochs and 3.5× the parameters of our plain CNN ({_OURS}).",
    ),
    ReferenceRow(
        model="ResNet-18",
        family="resnet",
        preset="tiny_resnet_fmnist",
        accuracy=0.949,
        params=None,
        source_title=DATASET_TABLE,
        source_url=DATASET_TABLE_URL,
        code_url="https://github.com/kefth/fashion-mnist",
        year=2017,
        budget="Adam (default learning rate), batch 256, up to 200 epochs with early stopping on validation loss "
        "(patience 5) (train.py of the linked repository)",
        augmentation="normalisation, random horizontal and vertical flips, random translation and rotation",
        why_ours_differs=f"About 11 M parameters, strong augmentation and many more epochs ({_OURS}).",
    ),
    ReferenceRow(
        model="ResNet-20 (CIFAR-style, 3 stages of 16/32/64 channels)",
        family="resnet",
        preset="tiny_resnet_fmnist",
        accuracy=0.9561,
        params=None,
        source_title=RANDOM_ERASING,
        source_url=RANDOM_ERASING_URL,
        code_url="https://github.com/zhunzhong07/Random-Erasing",
        year=2017,
        budget="300 epochs, batch 128, learning rate 0.1 divided by 10 at epochs 150 and 225, weight decay 5e-4 "
        "(fashionmnist.py defaults)",
        augmentation="random crops (4-pixel padding) and horizontal flips; reported as test error 4.39 %",
        why_ours_differs=f"{_times(300)} more epochs with random crops, at full 28×28 resolution ({_OURS}).",
        note="the training script reports the best test accuracy over all epochs",
    ),
    ReferenceRow(
        model="ResNet-20 + Random Erasing",
        family="resnet",
        preset="tiny_resnet_fmnist",
        accuracy=0.9598,
        params=None,
        source_title=RANDOM_ERASING,
        source_url=RANDOM_ERASING_URL,
        code_url="https://github.com/zhunzhong07/Random-Erasing",
        year=2017,
        budget="300 epochs, batch 128, learning rate 0.1 divided by 10 at epochs 150 and 225, weight decay 5e-4 "
        "(fashionmnist.py defaults)",
        augmentation="random crops (4-pixel padding), horizontal flips and random erasing (p = 0.5); reported as "
        "test error 4.02 %",
        why_ours_differs=f"{_times(300)} more epochs and an extra occlusion augmentation ({_OURS}).",
        note="the training script reports the best test accuracy over all epochs",
    ),
    ReferenceRow(
        model="Wide ResNet-28-10",
        family="resnet",
        preset="tiny_resnet_fmnist",
        accuracy=0.9599,
        params=None,
        source_title=RANDOM_ERASING,
        source_url=RANDOM_ERASING_URL,
        code_url="https://github.com/zhunzhong07/Random-Erasing",
        year=2017,
        budget="300 epochs, batch 128, learning rate 0.1 divided by 10 at epochs 150 and 225, weight decay 5e-4 "
        "(fashionmnist.py defaults)",
        augmentation="random crops (4-pixel padding) and horizontal flips; reported as test error 4.01 % (the "
        "dataset's table lists it as 0.959)",
        why_ours_differs=f"About 36 M parameters (over 100 times ours) and {_times(300)} more epochs ({_OURS}).",
        note="pre-activation wide ResNet; the training script reports the best test accuracy over all epochs",
    ),
    ReferenceRow(
        model="DenseNet-BC, 768 k parameters",
        family="densenet",
        preset=None,
        accuracy=0.954,
        params=768_000,
        source_title=DATASET_TABLE,
        source_url=DATASET_TABLE_URL,
        code_url="https://github.com/ajbrock/FreezeOut",
        year=2017,
        budget="not stated in the table; the linked train.py defaults to 100 epochs, batch 50, SGD with Nesterov "
        "momentum",
        augmentation="mean/std standardisation, random crops and horizontal flips",
        why_ours_differs=f"A deeper, larger network trained about {_times(100)} longer with random crops ({_OURS}).",
    ),
    ReferenceRow(
        model="ViT from scratch (4×4 patches, width 64, 6 blocks, 4 heads)",
        family="metaformer",
        preset="tiny_vit_fmnist",
        accuracy=0.923,
        params=None,
        source_title="PyTorch Scratch Vision Transformer (ViT), README results table",
        source_url="https://github.com/s-chh/PyTorch-Scratch-Vision-Transformer-ViT",
        code_url="https://github.com/s-chh/PyTorch-Scratch-Vision-Transformer-ViT",
        year=2024,
        budget="200 epochs (10 of warm-up), AdamW, learning rate 5e-4, weight decay 1e-3, batch 128, cosine "
        "decay (main.py and solver.py defaults)",
        augmentation="random crops (2-pixel padding) and horizontal flips; dropout 0.1",
        why_ours_differs=f"{_times(200)} more epochs with crops, for a ViT of 6 blocks against our 4 ({_OURS}).",
    ),
    ReferenceRow(
        model="MLP-Mixer-style network (4×4 patches, 2 token/channel MLP blocks)",
        family="metaformer",
        preset="tiny_mixer_fmnist",
        accuracy=0.902,
        params=None,
        source_title="mlp-mixer: an adaptation of MLP-Mixer to Fashion-MNIST, README",
        source_url="https://github.com/mniyas/mlp-mixer",
        code_url="https://github.com/mniyas/mlp-mixer/blob/main/FashionMNIST-Classifier.ipynb",
        year=2022,
        budget="75 epochs, SGD with momentum 0.9, learning rate 0.01 (×0.3 at epochs 25 and 50), weight decay 1e-3, "
        "batch 128 (the linked notebook)",
        augmentation="none; dropout 0.3–0.4",
        why_ours_differs=f"{_times(75)} more epochs, but two blocks without residual connections or norms ({_OURS}).",
        note="not the paper's Mixer block: no residual connections, no LayerNorm",
    ),
)


REFERENCES: dict[str, tuple[ReferenceRow, ...]] = {"fashion_mnist": FASHION_MNIST_REFERENCES}


def references_for(slug: str) -> tuple[ReferenceRow, ...]:
    """Published results shown beside a benchmark's board (not trained here); empty when there are none."""
    return REFERENCES.get(slug, ())
