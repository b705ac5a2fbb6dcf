from ecgmask.models.resnet1d import ResNet1d18

__all__ = ["ResNet1d18"]
