#include "input_guards.h"

#include <QAbstractScrollArea>
#include <QAbstractSlider>
#include <QAbstractSpinBox>
#include <QApplication>
#include <QComboBox>
#include <QKeyEvent>
#include <QScrollBar>
#include <QWheelEvent>

namespace knee::ui {

namespace {

class WheelGuard : public QObject {
public:
    using QObject::QObject;
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (event->type() != QEvent::Wheel)
            return false;
        auto* w = qobject_cast<QWidget*>(watched);
        if (!w || w->hasFocus())
            return false;
        // Not focused: the wheel scrolls whatever scrolls around the control, never its value.
        for (QWidget* p = w->parentWidget(); p; p = p->parentWidget())
            if (auto* area = qobject_cast<QAbstractScrollArea*>(p)) {
                QCoreApplication::sendEvent(area->viewport(), event);
                break;
            }
        return true;
    }
};

class SpaceFilter : public QObject {
public:
    using QObject::QObject;
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (event->type() != QEvent::ShortcutOverride)
            return false;
        auto* key = static_cast<QKeyEvent*>(event);
        if (key->key() != Qt::Key_Space || key->modifiers() != Qt::NoModifier)
            return false;
        auto* w = qobject_cast<QWidget*>(watched);
        if (!w)
            return false;
        // A spin box's text field types numbers: a space there means nothing, so it goes to the shortcut.
        const bool numeric = qobject_cast<QAbstractSpinBox*>(w) || qobject_cast<QAbstractSpinBox*>(w->parentWidget())
            || qobject_cast<QAbstractSlider*>(w);
        if (!numeric)
            return false;
        event->ignore(); // not taken by the control: the shortcut map gets it
        return true;
    }
};

WheelGuard* guard()
{
    static auto* g = new WheelGuard(qApp);
    return g;
}

} // namespace

void wheelOnlyWhenFocused(QWidget* root)
{
    QList<QWidget*> controls;
    for (auto* w : root->findChildren<QAbstractSpinBox*>())
        controls << w;
    for (auto* w : root->findChildren<QAbstractSlider*>())
        if (!qobject_cast<QScrollBar*>(w))
            controls << w;
    for (auto* w : root->findChildren<QComboBox*>())
        controls << w;
    for (QWidget* w : controls) {
        w->setFocusPolicy(Qt::StrongFocus); // a wheel turn never gives focus
        w->removeEventFilter(guard());
        w->installEventFilter(guard());
    }
}

void letSpaceReachShortcuts(QObject* owner)
{
    qApp->installEventFilter(new SpaceFilter(owner));
}

} // namespace knee::ui
