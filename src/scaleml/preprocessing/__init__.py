"""Out-of-core preprocessing: scalers, imputers and encoders."""

from scaleml.preprocessing._data import MaxAbsScaler, MinMaxScaler, StandardScaler
from scaleml.preprocessing._discretization import KBinsDiscretizer
from scaleml.preprocessing._encoders import OneHotEncoder, OrdinalEncoder
from scaleml.preprocessing._hashing import FeatureHasher, HashingEncoder
from scaleml.preprocessing._impute import SimpleImputer
from scaleml.preprocessing._quantile_transformer import QuantileTransformer
from scaleml.preprocessing._robust import RobustScaler
from scaleml.preprocessing._sketch import QuantileSketch
from scaleml.preprocessing._target_encoder import TargetEncoder

__all__ = [
    "FeatureHasher",
    "HashingEncoder",
    "KBinsDiscretizer",
    "MaxAbsScaler",
    "MinMaxScaler",
    "OneHotEncoder",
    "OrdinalEncoder",
    "QuantileSketch",
    "QuantileTransformer",
    "RobustScaler",
    "SimpleImputer",
    "StandardScaler",
    "TargetEncoder",
]
