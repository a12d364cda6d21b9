#include "run_metrics.h"

namespace knee {

const char* partKey(Part p)
{
    switch (p) {
    case Part::QueueWait: return "queue_wait";
    case Part::Preprocess: return "preprocess";
    case Part::PredictWait: return "predict_wait";
    case Part::Predict: return "predict";
    case Part::Postprocess: return "postprocess";
    }
    return "?";
}

} // namespace knee
