#include "scroll_fit.h"

#include <QEvent>
#include <QScrollArea>
#include <QScrollBar>

namespace knee::ui {

namespace {
// Watches the content for layout requests (its minimum size hint may have changed) and sets the
// area's minimum width from it: a set-once minimum goes stale when the content's labels grow.
class FitContentWidth : public QObject {
public:
    explicit FitContentWidth(QScrollArea* area)
        : QObject(area)
        , m_area(area)
    {
        area->widget()->installEventFilter(this);
        fit();
    }
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (event->type() == QEvent::LayoutRequest && watched == m_area->widget())
            fit();
        return QObject::eventFilter(watched, event);
    }

private:
    void fit()
    {
        m_area->setMinimumWidth(m_area->widget()->minimumSizeHint().width() + m_area->verticalScrollBar()->sizeHint().width()
                                + 2 * m_area->frameWidth());
    }
    QScrollArea* m_area;
};
} // namespace

void fitWidthToContent(QScrollArea* area)
{
    if (area && area->widget())
        new FitContentWidth(area); // a child of the area: goes with it
}

} // namespace knee::ui
