// What "Make a twin…" on the sweep page found (issue 15). A refusal: why, and what to measure next. A
// twin: what it is a twin of, how well it replays each level of the sweep and predicts the levels left
// out of its fit (the error per level, a cell's number in its Qt::UserRole), the fit's notes, and
// buttons to save it or open it in the workbench. A view only: the page holds the fit, saves and opens it.
#pragma once
#include "study/twin.h"

#include <QDialog>

class QLabel;
class QPushButton;
class QTableWidget;
class QTextBrowser;

namespace knee::ui {

class TwinDialog : public QDialog {
    Q_OBJECT
public:
    // The error tables' columns; the stream columns are hidden for a model that does not stream.
    enum Column { Users, Throughput, P50, P95, TtftP50, TtftP95, ItlP50, Worst, ColumnCount };

    explicit TwinDialog(const TwinFit& fit, QWidget* parent = nullptr);

    QString headline() const;        // the banner of the twin, or why there is none
    QString measureNextText() const; // empty when the fit asks for nothing more
    QString notesText() const;       // the fit's choices and the levels it left out, as plain text
    QTableWidget* replayTable() const { return m_replay; }
    QTableWidget* crossValidationTable() const { return m_crossValidation; }
    QTableWidget* rateChecksTable() const { return m_rateChecks; }
    QPushButton* saveButton() const { return m_save; }
    QPushButton* openButton() const { return m_open; }
    // Shown only after a flat sweep's refusal: fit again as a replica that serves one request at a time.
    QPushButton* serialButton() const { return m_serial; }
    QPushButton* skipButton() const { return m_skip; }
    void setStatus(const QString& text); // what Save or Open did
    QString statusText() const;

signals:
    void saveRequested();
    void openRequested();
    void serialFitRequested();
    void skipFitRequested(int level); // fit the same sweep again without this level (TwinFit::skipMayFit)

private:
    QLabel* m_headline;
    QLabel* m_measureNext;
    QTableWidget* m_replay;
    QTableWidget* m_crossValidation;
    QTableWidget* m_rateChecks;
    QTextBrowser* m_notes;
    QLabel* m_status;
    QPushButton* m_save;
    QPushButton* m_open;
    QPushButton* m_serial;
    QPushButton* m_skip;
};

} // namespace knee::ui
