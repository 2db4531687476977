#!/usr/bin/env bash
# Prepares what the GPU device check carries to a lent GPU machine (which has no Node and no network):
# .gpu/ (this machine's node binary, the runtime node_modules for linux-x64, the SDXL shape dump, run.sh) and
# .gl/ (the Vulkan/GL loader .debs), both git-ignored through .git/info/exclude. Then, on the device tool:
#   run: command "export OUT LIMIT=470; bash .gpu/run.sh", carry [".gpu", ".gl", "dist"]
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu/' .git/info/exclude || echo '/.gpu/' >> .git/info/exclude
grep -qx '/.gl/' .git/info/exclude || echo '/.gl/' >> .git/info/exclude
node esbuild.js --gpu-check
rm -rf .gpu && mkdir -p .gpu .gl /tmp/amd64/partial
cp ../shared/fixtures/shapes/sdxl_kohya_lora.invokeai_dump.json .gpu/
xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
# Runtime packages only (what package-lock.json does not mark dev), without other platforms' binaries.
node -e "const l=require('./package-lock.json');const fs=require('fs');for(const[k,v]of Object.entries(l.packages))if(k&&!v.dev&&fs.existsSync(k)&&!/@types|undici-types/.test(k))console.log(k)" > /tmp/gpu-carry-packages.txt
tar --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/webgpu/dist/linux-arm64' \
  --exclude='*.map' --exclude='*.es2017*' --exclude='*.min.js' --exclude='*.esm.js' --exclude='*.fesm.js' --exclude='*.d.ts' \
  -cf - -T /tmp/gpu-carry-packages.txt | xz -T2 -6 > .gpu/modules.tar.xz
cp scripts/gpu-run.sh .gpu/run.sh
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
apt-get $o update >/dev/null
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
du -sh .gpu .gl dist
