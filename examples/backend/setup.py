# SPDX-License-Identifier: Apache-2.0
from setuptools import Extension, setup

setup(
    name="backend",
    version="1.0.0",
    packages=["app"],
    ext_modules=[Extension("app._checksum", ["src/checksum.c"])],
    python_requires=">=3.11",
)
