// SPDX-License-Identifier: Apache-2.0
// A multi-stage recipe on a busybox rootfs copied from the build context
// (make_busybox_rootfs puts it at context/rootfs): files created, changed
// and deleted by run steps, a build arg, a copy from another stage and
// steps run as the user "someone" (1000:1000).
#pragma once

namespace imgbuild::test {

inline constexpr const char* busybox_recipe = R"(
[image]
name = "localhost/e2e-busybox"
tags = ["1.0", "latest"]

[args]
GREETING = "hello"

[context]
dir = "context"

[build]
source_date_epoch = 1700000000

[[stage]]
name = "base"
base = "scratch"

[[stage.step]]
copy = "rootfs"
to = "/"

[[stage]]
name = "builder"
base = "base"

[[stage.step]]
run = "mkdir -p /work/keep /work/gone && echo old > /work/keep/file && echo x > /work/gone/file"

[[stage.step]]
run = "rm -rf /work/gone && echo new > /work/keep/file && mkdir /work/new"

[[stage.step]]
run = "echo $GREETING > /artifact"
args = ["GREETING"]

[[stage]]
name = "runtime"
base = "base"

[[stage.step]]
copy = "/artifact"
from = "builder"
to = "/app/"

[[stage.step]]
user = "someone"

[[stage.step]]
workdir = "/home/someone/work"

[[stage.step]]
run = "touch file && id -u > /tmp/uid"

[stage.config]
cmd = ["cat", "/app/artifact"]
)";


}  // namespace imgbuild::test
