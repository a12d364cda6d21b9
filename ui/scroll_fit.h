// A column that scrolls only up and down (its horizontal bar off) cuts off on the right whatever is
// wider than its viewport. This keeps such a scroll area at least as wide as its content needs, and
// follows the content as it grows (labels filled in after the first layout).
#pragma once

class QScrollArea;

namespace knee::ui {

void fitWidthToContent(QScrollArea* area); // call after area->setWidget()

} // namespace knee::ui
