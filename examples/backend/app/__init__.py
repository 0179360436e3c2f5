# SPDX-License-Identifier: Apache-2.0
"""Example backend service that imgbuild's reference recipe ships."""

__version__ = "1.0.0"
