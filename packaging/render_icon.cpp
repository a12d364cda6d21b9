// Renders packaging/knee.svg into the PNG sizes the hicolor icon theme wants, at build time, so the
// repository holds only the SVG (one source of truth) and the PNGs can never drift from it.
//   knee-render-icon INPUT.svg OUTPUT.png SIZE
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <QSvgRenderer>
#include <QTextStream>

int main(int argc, char** argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen"); // a build machine has no display
    QGuiApplication app(argc, argv);
    const QStringList args = app.arguments();
    bool ok = false;
    const int size = args.size() == 4 ? args[3].toInt(&ok) : 0;
    if (!ok || size < 1 || size > 4096) {
        QTextStream(stderr) << "usage: knee-render-icon INPUT.svg OUTPUT.png SIZE\n";
        return 2;
    }
    QSvgRenderer svg(args[1]);
    if (!svg.isValid()) {
        QTextStream(stderr) << "knee-render-icon: cannot read " << args[1] << "\n";
        return 1;
    }
    QImage image(size, size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::transparent);
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    svg.render(&painter);
    painter.end();
    if (!image.save(args[2], "PNG")) {
        QTextStream(stderr) << "knee-render-icon: cannot write " << args[2] << "\n";
        return 1;
    }
    return 0;
}
