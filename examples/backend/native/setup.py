# SPDX-License-Identifier: Apache-2.0
# The compiled part of the service, built into a wheel in the builder stage.
# The pure-Python code in ../app is copied into the runtime image as it is,
# so a change to it rebuilds nothing here.
from setuptools import Extension, setup

setup(
    name="backend-native",
    version="1.0.0",
    packages=[],
    ext_modules=[Extension("backend_native", ["checksum.c"])],
    python_requires=">=3.11",
)
