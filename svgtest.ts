import * as echarts from 'echarts';
const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: 680, height: 240 });
chart.setOption({ animation: false, xAxis: { type: 'category', data: ['a','b'] }, yAxis: { type: 'value' }, series: [{ type: 'bar', data: [1,2] }] });
const s = chart.renderToSVGString();
console.log(s.slice(0,200), s.length);
