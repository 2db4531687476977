#!/usr/bin/env bash
# Runs on the lent GPU machine (see scripts/gpu-carry.sh): unpacks node and node_modules, the Vulkan loader,
# then the device check (bench/gpu-check.ts), writing gpu-check.json into $OUT.
set -u
START=$(date +%s)
mkdir -p /tmp/gnode && xz -dc .gpu/node.xz > /tmp/gnode/node && chmod +x /tmp/gnode/node
command -v node >/dev/null || export PATH=/tmp/gnode:$PATH
W=/tmp/gw && rm -rf $W && mkdir -p $W && cp -r dist $W/ && tar -xJf .gpu/modules.tar.xz -C $W
for f in .gl/*.deb; do dpkg -x $f / 2>/dev/null; done; ldconfig 2>/dev/null
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
export XDG_RUNTIME_DIR=/tmp
echo "setup $(( $(date +%s) - START )) s; node $(node --version)"; nvidia-smi -L 2>&1 | head -2; ls /usr/local/nvidia/share/vulkan/icd.d/ 2>&1 | head
cd $W && timeout ${LIMIT:-480} node dist/gpu-check.js $OLDPWD/.gpu/sdxl_kohya_lora.invokeai_dump.json ${OUT:-/tmp/gpuout} 2>&1 | grep -v "^=\|Hi, looks\|^$" | cut -c1-600
echo "total $(( $(date +%s) - START )) s"
