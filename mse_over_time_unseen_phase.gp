# Renders mse_over_time_unseen_phase.png and mse_over_time_unseen_phase.svg: gnuplot mse_over_time_unseen_phase.gp
do for [format in "png svg"] {
  if (format eq "png") { set terminal pngcairo size 1100,600 font "sans,10"; set output "mse_over_time_unseen_phase.png" }
  if (format eq "svg") { set terminal svg size 1100,600 dynamic font "sans,10"; set output "mse_over_time_unseen_phase.svg" }
  set termoption noenhanced
  set title "unseen_phase: MSE against time since the record's start (mean over components)"
  set grid
  set logscale xy
  set yrange [1e-9:1]
  set xlabel "time since the record's start (s, bin centres)"
  set ylabel "MSE"
  set key outside right
  plot "mse_over_time_unseen_phase.dat" using 1:4 with linespoints dt 2 lw 2 title "(classical bound)", "mse_over_time_unseen_phase.dat" using 1:5 with linespoints dt 2 lw 2 title "(causal bound)"
  unset multiplot
  set output
}
