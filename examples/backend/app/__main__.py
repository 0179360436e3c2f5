# SPDX-License-Identifier: Apache-2.0
from app.server import main

main()
