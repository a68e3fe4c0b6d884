"""Out-of-core preprocessing: scalers, imputers and encoders."""

from scaleml.preprocessing._data import MaxAbsScaler, MinMaxScaler, StandardScaler

__all__ = ["MaxAbsScaler", "MinMaxScaler", "StandardScaler"]
