"""Drift monitoring: mergeable data profiles, drift tests and self-contained reports."""

from scaleml.monitoring._monitor import DriftMonitor
from scaleml.monitoring._profile import ColumnProfile, DataProfile, profile_data
from scaleml.monitoring._report import DriftReport

__all__ = ["ColumnProfile", "DataProfile", "DriftMonitor", "DriftReport", "profile_data"]
