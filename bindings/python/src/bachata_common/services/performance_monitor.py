"""The original ``common.services.performance_monitor`` module: see
:mod:`bachata_common.performance_monitor`."""

from ..performance_monitor import (
    ABTestConfig,
    PerformanceMetrics,
    PerformanceMonitor,
    RecommendationDecision,
    UserFeedback,
)

__all__ = ["ABTestConfig", "PerformanceMetrics", "PerformanceMonitor", "RecommendationDecision", "UserFeedback"]
