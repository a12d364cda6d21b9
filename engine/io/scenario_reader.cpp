#include "scenario_reader.h"

#include "scenario_sections.h"
#include "yaml_fields.h"
#include "yaml_text.h"
#include "yaml_tree.h"
#include "user_file.h"

#include <new>

namespace knee {

std::string ScenarioError::toString() const
{
    std::string s = file;
    if (line > 0)
        s += ":" + std::to_string(line) + ":" + std::to_string(column);
    s += ": ";
    if (!key.empty())
        s += "key '" + key + "': ";
    return s + message;
}

namespace {

using io::Diagnostics;
using io::YamlMark;
using io::YamlParseResult;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
const std::string kExpectedTop = "a scenario: a map with keys deployment, model and workload";

bool onlyWhitespace(std::string_view text)
{
    return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

ScenarioReadResult finish(Diagnostics& diag, std::optional<Scenario> scenario)
{
    ScenarioReadResult result;
    result.errors = diag.takeErrors();
    result.warnings = diag.takeWarnings();
    if (result.errors.empty())
        result.scenario = std::move(scenario);
    return result;
}

// Parser failures in words, with the position the user has to look at.
void reportParseFailure(Diagnostics& diag, const YamlParseResult& parsed, std::string_view text)
{
    using Status = YamlParseResult::Status;
    switch (parsed.status) {
    case Status::Ok: return;
    case Status::NoDocument:
        diag.error(YamlMark { 0, 0 }, {},
            std::string(onlyWhitespace(text) ? "the file is empty" : "the file holds only comments") + "; expected "
                + kExpectedTop);
        return;
    case Status::SyntaxError:
        // yaml-cpp notices a tab used for indentation only later, as "illegal map value" or similar.
        if (auto tab = io::findIndentationTab(text, parsed.errorMark.line)) {
            diag.error(*tab, {},
                "YAML syntax error: a tab indents this line; YAML indents with spaces only (the parser stopped at line "
                    + std::to_string(parsed.errorMark.line + 1) + ": " + parsed.errorMessage + ")");
            return;
        }
        diag.error(parsed.errorMark, {}, "YAML syntax error: " + parsed.errorMessage);
        return;
    case Status::TooDeep:
        diag.error(parsed.errorMark, {}, "the YAML is nested too deeply for the parser (a scenario needs 4 levels)");
        return;
    case Status::ExtraDocument:
        diag.error(parsed.errorMark, {}, "a second YAML document starts here ('---'); a scenario file holds one document");
        return;
    case Status::Failed: diag.error(std::nullopt, {}, "the YAML could not be parsed: " + parsed.errorMessage); return;
    }
}

ScenarioReadResult readText(std::string_view text, const std::string& sourceName)
{
    Diagnostics diag(sourceName);
    if (text.size() > kMaxScenarioFileBytes) {
        diag.error(std::nullopt, {},
            "the text is " + io::mebibytesText(text.size()) + "; a scenario is limited to " + io::mebibytesText(kMaxScenarioFileBytes));
        return finish(diag, std::nullopt);
    }
    if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom)
        text.remove_prefix(kUtf8Bom.size());
    diag.setText(text);
    if (auto problem = io::checkYamlText(text)) {
        diag.error(problem->mark, {}, problem->message);
        return finish(diag, std::nullopt);
    }
    const YamlParseResult parsed = io::parseYaml(text);
    if (parsed.status != YamlParseResult::Status::Ok) {
        reportParseFailure(diag, parsed, text);
        return finish(diag, std::nullopt);
    }
    if (parsed.tree.type(parsed.tree.root()) == io::YamlType::Null) {
        diag.error(YamlMark { 0, 0 }, {}, "the document is empty; expected " + kExpectedTop);
        return finish(diag, std::nullopt);
    }
    Scenario scenario = io::readScenarioDocument(parsed.tree, diag);
    if (!diag.hasErrors()) {
        // Backstop: the engine's own rules, in case a combination slipped past the checks above.
        if (const std::string problem = scenario.validate(); !problem.empty())
            diag.error(std::nullopt, {}, "the scenario does not pass the engine's check: " + problem);
    }
    return finish(diag, std::move(scenario));
}

ScenarioReadResult fileError(const std::string& path, const std::string& message)
{
    Diagnostics diag(path);
    diag.error(std::nullopt, {}, message);
    return finish(diag, std::nullopt);
}

ScenarioReadResult internalError(const std::string& sourceName, const char* what)
{
    return fileError(sourceName, std::string("internal error while reading the scenario: ") + what);
}

} // namespace

ScenarioReadResult readScenarioText(const std::string& yaml, const std::string& sourceName)
{
    try {
        return readText(yaml, sourceName);
    } catch (const std::bad_alloc&) {
        return internalError(sourceName, "out of memory");
    } catch (const std::exception& e) {
        return internalError(sourceName, e.what());
    } catch (...) {
        return internalError(sourceName, "unknown exception");
    }
}

ScenarioReadResult readScenarioFile(const std::string& path, std::string* text)
{
    try {
        io::UserFileRead read = io::readUserFile(path, io::kScenarioFile);
        if (!read.ok())
            return fileError(path, read.error);
        ScenarioReadResult result = readScenarioText(read.bytes, path);
        if (text)
            *text = std::move(read.bytes);
        return result;
    } catch (const std::bad_alloc&) {
        return internalError(path, "out of memory");
    } catch (const std::exception& e) {
        return internalError(path, e.what());
    } catch (...) {
        return internalError(path, "unknown exception");
    }
}

} // namespace knee
