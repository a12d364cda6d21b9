# Sourced by the GPU machine's scripts (bench/*/run_*.sh): the repository root as the working folder,
# the output folder ${OUT:-/tmp/out} in $out (created), and the headless knee that
# bench/predict/bundle_cli.sh packed into devrun/ with its libraries, as $knee.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${OUT:-/tmp/out}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/devrun/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export QT_QPA_PLATFORM=offscreen
knee=$PWD/devrun/knee
