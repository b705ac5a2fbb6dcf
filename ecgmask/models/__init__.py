from ecgmask.models.projector import Projector
from ecgmask.models.resnet1d import ResNet1d18
from ecgmask.models.unet1d import UNet1d

__all__ = ["Projector", "ResNet1d18", "UNet1d"]
