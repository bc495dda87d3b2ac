-- The analyst's workflow on the shipped nycflights13 lake (data/): every flight that
-- left New York City in 2013, as a Hive-partitioned parquet lake (year=/month=), with
-- airlines and airports as parquet, planes as CSV and hourly weather as JSON lines.
-- Run from the repository root:  cargo run --release -- -f queries/demo.sql

CREATE DATABASE IF NOT EXISTS nyc;
USE nyc;

CREATE EXTERNAL TABLE IF NOT EXISTS flights (
  day int, dep_time int, sched_dep_time int, dep_delay double, arr_time int,
  sched_arr_time int, arr_delay double, carrier string, flight int, tailnum string,
  origin string, dest string, air_time double, distance double, hour int, minute int,
  time_hour timestamp)
PARTITIONED BY (year int, month int)
STORED AS PARQUET
LOCATION 'data/nyc_flights';

MSCK REPAIR TABLE flights;

CREATE TABLE IF NOT EXISTS airlines USING parquet LOCATION 'data/nyc_airlines';
CREATE TABLE IF NOT EXISTS airports USING parquet LOCATION 'data/nyc_airports';

CREATE EXTERNAL TABLE IF NOT EXISTS planes (
  tailnum string, year int, type string, manufacturer string, model string,
  engines int, seats int, speed int, engine string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION 'data/nyc_planes'
TBLPROPERTIES ('skip.header.line.count'='1');

CREATE EXTERNAL TABLE IF NOT EXISTS weather (
  origin string, year int, month int, day int, hour int, temp double, dewp double,
  humid double, wind_dir double, wind_speed double, wind_gust double, precip double,
  pressure double, visib double, time_hour timestamp)
STORED AS JSON
LOCATION 'data/nyc_weather';

CREATE OR REPLACE TEMPORARY VIEW departed AS
SELECT * FROM flights WHERE dep_time IS NOT NULL;

-- 1. Flights and average arrival delay per airline (flights x airlines)
SELECT a.name AS airline, count(*) AS flights, round(avg(f.arr_delay), 2) AS avg_arr_delay
FROM departed f JOIN airlines a ON f.carrier = a.carrier
GROUP BY a.name
ORDER BY flights DESC
LIMIT 10;

-- 2. Median and 90th percentile departure delay per origin airport
SELECT f.origin, ap.name, count(*) AS flights,
       median(f.dep_delay) AS median_dep_delay,
       percentile_approx(f.dep_delay, 0.9) AS p90_dep_delay
FROM departed f JOIN airports ap ON f.origin = ap.faa
GROUP BY f.origin, ap.name
ORDER BY f.origin;

-- 3. One month only: the partition filter prunes the other 11 partitions
SELECT dest, count(*) AS flights, round(avg(arr_delay), 2) AS avg_arr_delay
FROM flights
WHERE year = 2013 AND month = 12
GROUP BY dest
ORDER BY flights DESC
LIMIT 5;

-- 4. CSV x parquet: flights by aircraft manufacturer
SELECT p.manufacturer, count(*) AS flights, count(DISTINCT p.tailnum) AS planes,
       round(avg(p.seats), 1) AS avg_seats
FROM departed f JOIN planes p ON f.tailnum = p.tailnum
GROUP BY p.manufacturer
ORDER BY flights DESC
LIMIT 5;

-- 5. JSON weather x parquet: departure delays by visibility at the origin
SELECT CASE WHEN w.visib < 1 THEN 'fog (<1 mile)'
            WHEN w.visib < 5 THEN 'haze (1-5 miles)'
            ELSE 'clear (>=5 miles)' END AS visibility,
       count(*) AS flights,
       round(avg(f.dep_delay), 2) AS avg_dep_delay
FROM departed f
JOIN weather w
  ON f.origin = w.origin AND f.year = w.year AND f.month = w.month
 AND f.day = w.day AND f.hour = w.hour
GROUP BY 1
ORDER BY avg_dep_delay DESC;

-- 6. Busiest routes in the summer months (partition pruning on a range)
SELECT origin, dest, count(*) AS flights
FROM flights
WHERE month BETWEEN 6 AND 8
GROUP BY origin, dest
ORDER BY flights DESC, origin, dest
LIMIT 5;
