"""The Train page's plots keep room for their data when a doctor's note and a three-row legend show: each plot at
least PLOT_MIN_HEIGHT high, the loss plot's data area a readable height, and the window still fits a 768-pixel-high
screen (the samples pane gives the height, never all of it)."""

from PySide6.QtWidgets import QApplication

from studio.train.page import PLOT_MIN_HEIGHT


def test_a_doctor_note_and_a_long_legend_leave_the_plots_room(qtbot, window):
    window.resize(1100, 720)
    with qtbot.waitExposed(window):
        window.show()
    page = window.train_page
    window.nav.setCurrentRow(window.stack.indexOf(page))
    page.doctor.setText("<b>Doctor</b>: " + "the loss spiked after the learning rate rose; lower it or clip more. " * 3)
    page.doctor.setVisible(True)
    for i in range(6):  # three rows of the legend's columns at this width
        page.loss_plot.set_series(f"exact match, later turns {i}", [0, 1], [1.0, 0.5], color="#336699")
    for _ in range(3):  # the layouts' pending requests, then the resizes they post
        QApplication.sendPostedEvents()
        QApplication.processEvents()
    assert all(plot.height() >= PLOT_MIN_HEIGHT for plot in page.plots), [p.height() for p in page.plots]
    data = page.loss_plot.plotItem.vb.sceneBoundingRect().height()
    assert data >= 40, f"the loss plot's data area is {data:.0f} px high"
    assert page.tabs.height() > 0
    assert window.minimumSizeHint().height() <= 768
