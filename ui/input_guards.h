// Keyboard and mouse rules for a window full of live knobs:
// - the mouse wheel changes a spin box, slider or combo box only when it has keyboard focus; over an
//   unfocused one it scrolls the panel (three wheel clicks over a panel used to move a running
//   engine's max replicas from 24 to 15);
// - Space reaches the window's shortcut (pause) while a spin box or slider has focus, where a space
//   means nothing; in a text field it is still typed.
#pragma once

class QObject;
class QWidget;

namespace knee::ui {

// Guards every spin box, slider and combo box under `root` (call again after adding more).
void wheelOnlyWhenFocused(QWidget* root);
// Installs the Space rule on the application; `owner` keeps the filter alive.
void letSpaceReachShortcuts(QObject* owner);

} // namespace knee::ui
