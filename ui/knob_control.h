// One knob as a user sees it: a label, a slider and a spin box kept in step, with a tooltip in
// the platform's own words. Emits valueChanged only for user moves (not for setValue()).
#pragma once
#include <QWidget>

class QSlider;
class QSpinBox;
class QLabel;

namespace knee::ui {

class KnobControl : public QWidget {
    Q_OBJECT
public:
    KnobControl(const QString& label, int minimum, int maximum, const QString& toolTip, QWidget* parent = nullptr);
    int value() const;
    void setValue(int value); // silent
    void setRange(int minimum, int maximum);
    QSlider* slider() const { return m_slider; }
    QSpinBox* spinBox() const { return m_spin; }
    bool isDragging() const; // the slider is held down by the mouse

signals:
    void valueChanged(int value);

private:
    QSlider* m_slider;
    QSpinBox* m_spin;
    bool m_silent = false;
};

} // namespace knee::ui
