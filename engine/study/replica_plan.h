// Min and max replicas from the throughput of one replica at its concurrency target (seed 000):
//   min = baseline ÷ throughput + 1 (redundancy),  max = peak ÷ throughput + buffer.
// Rounding: each quotient is rounded UP (a fraction of a replica's load still needs a replica),
// then the redundancy / buffer is added. The seed's example (10 req/s, 25 and 80 req/s, buffer 2)
// gives ceil(2.5) + 1 = 4 and ceil(8) + 2 = 10.
#pragma once
#include <string>

namespace knee {

struct ReplicaPlanInput {
    double throughputPerReplicaRps = 0; // measured at the chosen concurrency target
    double baselineRps = 0;
    double peakRps = 0;
    int buffer = 2;     // extra replicas above peak (seed 000's example uses 2)
    int redundancy = 1; // extra replicas above baseline (seed 000: "+1 for redundancy")
};

struct ReplicaPlan {
    int minReplicas = 0;
    int maxReplicas = 0;
    std::string minRule; // the arithmetic, in words, for the evidence panel and --json
    std::string maxRule;
    std::string error;   // non-empty when the input cannot give a plan
};

ReplicaPlan planReplicas(const ReplicaPlanInput& input);

} // namespace knee
