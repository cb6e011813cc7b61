"""Feature definitions in Python, compiled to Proton streaming SQL and to a historical query."""

from __future__ import annotations

from pyproton_ml.features.aggregates import Count
from pyproton_ml.features.aggregates import Max
from pyproton_ml.features.aggregates import Mean
from pyproton_ml.features.aggregates import Min
from pyproton_ml.features.aggregates import Sum
from pyproton_ml.features.expressions import Col
from pyproton_ml.features.expressions import Encode
from pyproton_ml.features.expressions import HourOfDay
from pyproton_ml.features.expressions import Impute
from pyproton_ml.features.expressions import IsMissing
from pyproton_ml.features.expressions import Ratio
from pyproton_ml.features.feature_set import Feature
from pyproton_ml.features.feature_set import FeatureSet
from pyproton_ml.features.lookups import AsofLookup
from pyproton_ml.features.streams import Column
from pyproton_ml.features.streams import Stream
from pyproton_ml.features.window_aggregate import WindowAggregate
from pyproton_ml.features.windows import EmitPolicy
from pyproton_ml.features.windows import Hop
from pyproton_ml.features.windows import Tumble

__all__ = [
    "AsofLookup",
    "Col",
    "Column",
    "Count",
    "EmitPolicy",
    "Encode",
    "Feature",
    "FeatureSet",
    "Hop",
    "HourOfDay",
    "Impute",
    "IsMissing",
    "Max",
    "Mean",
    "Min",
    "Ratio",
    "Stream",
    "Sum",
    "Tumble",
    "WindowAggregate",
]
