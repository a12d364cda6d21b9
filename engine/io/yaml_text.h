// Checks on raw YAML text before and after yaml-cpp sees it: encoding and binary content (yaml-cpp
// would report NUL bytes as an "unknown escape character"), and tabs used for indentation (which
// yaml-cpp reports as "illegal map value" somewhere after the tab).
#pragma once
#include "yaml_tree.h"

#include <optional>
#include <string>
#include <string_view>

namespace knee::io {

// Marks here and from yaml-cpp count columns in bytes; characterColumn turns one into the
// character count an editor shows.
struct TextProblem {
    YamlMark mark; // 0-based
    std::string message;
};

// The first byte sequence that is not UTF-8, or the first character YAML does not allow in a
// document (C0/C1 controls other than tab, LF, CR and NEL; DEL; U+FFFE, U+FFFF).
std::optional<TextProblem> checkYamlText(std::string_view text);

// The first tab in a line's leading whitespace, on line `lastLine` (0-based) or before it.
std::optional<YamlMark> findIndentationTab(std::string_view text, int lastLine);

// The 0-based column of `mark` in characters rather than bytes.
int characterColumn(std::string_view text, YamlMark mark);

} // namespace knee::io
