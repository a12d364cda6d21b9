#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QSettings>
#include <QStyle>
#include <QStyleFactory>

namespace knee::ui {

namespace {
QPalette darkPalette()
{
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x30), base(0x1e, 0x1f, 0x22), text(0xe6, 0xe6, 0xe6), mid(0x55, 0x58, 0x5c);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9a, 0x9a));
    p.setColor(QPalette::Mid, mid);
    p.setColor(QPalette::Dark, QColor(0x18, 0x19, 0x1b));
    p.setColor(QPalette::Light, QColor(0x44, 0x46, 0x4a));
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x7e, 0xd6));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x6c, 0xb0, 0xff));
    // Disabled fields must look disabled: dimmer text on the window's own colour, not the field's.
    const QColor disabledText(0x6e, 0x71, 0x76);
    p.setColor(QPalette::Disabled, QPalette::Text, disabledText);
    p.setColor(QPalette::Disabled, QPalette::WindowText, disabledText);
    p.setColor(QPalette::Disabled, QPalette::ButtonText, disabledText);
    p.setColor(QPalette::Disabled, QPalette::PlaceholderText, QColor(0x55, 0x58, 0x5c));
    p.setColor(QPalette::Disabled, QPalette::Base, window);
    p.setColor(QPalette::Disabled, QPalette::Button, QColor(0x26, 0x28, 0x2b));
    p.setColor(QPalette::Disabled, QPalette::Highlight, mid);
    p.setColor(QPalette::Midlight, QColor(0x3a, 0x3c, 0x40));
    return p;
}
} // namespace

void applyTheme(Theme theme)
{
    switch (theme) {
    case Theme::System:
        QApplication::setPalette(QApplication::style()->standardPalette());
        break;
    case Theme::Light:
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        QApplication::setPalette(QApplication::style()->standardPalette());
        break;
    case Theme::Dark:
        // Fusion draws every control from the palette, so a dark palette reads everywhere.
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        QApplication::setPalette(darkPalette());
        break;
    }
}

Theme savedTheme()
{
    const int v = QSettings().value(QStringLiteral("view/theme"), 0).toInt();
    return v == 1 ? Theme::Light : v == 2 ? Theme::Dark : Theme::System;
}

void saveTheme(Theme theme) { QSettings().setValue(QStringLiteral("view/theme"), int(theme)); }

} // namespace knee::ui
