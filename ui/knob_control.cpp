#include "knob_control.h"

#include <QGridLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>

namespace knee::ui {

KnobControl::KnobControl(const QString& label, int minimum, int maximum, const QString& toolTip, QWidget* parent)
    : QWidget(parent)
    , m_slider(new QSlider(Qt::Horizontal, this))
    , m_spin(new QSpinBox(this))
{
    auto* layout = new QGridLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* name = new QLabel(label, this);
    name->setBuddy(m_spin);
    layout->addWidget(name, 0, 0, 1, 2);
    layout->addWidget(m_slider, 1, 0);
    layout->addWidget(m_spin, 1, 1);
    layout->setColumnStretch(0, 1);
    setRange(minimum, maximum);
    m_spin->setKeyboardTracking(false); // typing "12" applies 12, not 1 then 12
    setToolTip(toolTip);
    m_slider->setToolTip(toolTip);
    m_spin->setToolTip(toolTip);
    m_spin->setAccessibleName(label);

    connect(m_slider, &QSlider::valueChanged, this, [this](int v) {
        const QSignalBlocker block(m_spin);
        m_spin->setValue(v);
        if (!m_silent)
            emit valueChanged(v);
    });
    connect(m_spin, &QSpinBox::valueChanged, this, [this](int v) {
        const QSignalBlocker block(m_slider);
        m_slider->setValue(v);
        if (!m_silent)
            emit valueChanged(v);
    });
}

bool KnobControl::isDragging() const { return m_slider->isSliderDown(); }

int KnobControl::value() const { return m_spin->value(); }

void KnobControl::setValue(int value)
{
    m_silent = true;
    m_spin->setValue(value);
    m_slider->setValue(value);
    m_silent = false;
}

void KnobControl::setRange(int minimum, int maximum)
{
    m_silent = true;
    m_slider->setRange(minimum, maximum);
    m_spin->setRange(minimum, maximum);
    m_silent = false;
}

} // namespace knee::ui
